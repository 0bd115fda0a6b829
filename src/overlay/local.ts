/**
 * What a node's state directory says about an overlay network, for the callers that attach pods
 * to it without talking to the store (podnet-cni): whether the node agent holds a subnet lease
 * for it here, and so whether the local network `NAME` is the node subnet the agent made.
 *
 * The agent (agent.ts) keeps, in the state directory it shares with the bridge layer:
 *
 *   overlay/networks/NAME.json   {subnet, createdLocalNetwork, cluster}: the node subnet it holds
 *                                (or held), whether it made the local network, the cluster subnet
 *   networks/NAME/pending.json   the bridge layer's note why NAME is not usable here (written when
 *                                the agent released its lease or found the pool exhausted,
 *                                removed when it holds a subnet again)
 *
 * A network is an overlay's here when either exists. It is ready when the local network exists,
 * the agent made it, and no note says otherwise. An agent that was SIGKILLed leaves it ready: the
 * data plane and its lease outlive it (until the TTL), and its restart adopts both.
 */
import { join } from 'node:path'
import { NotFoundError } from '../errors.js'
import type { NetworkConfig, NetworkManager } from '../bridge/index.js'
import { readJson } from '../state/index.js'

export type OverlayLocal =
  | { state: 'ready'; network: NetworkConfig; subnet: string; cluster?: string }
  /** reason: why not, as the agent put it (e.g. its lease was released, the subnet pool is exhausted). */
  | { state: 'missing'; reason: string }

interface NetworkFile {
  subnet?: string
  createdLocalNetwork?: boolean
  cluster?: string
}

/** The fix for a node without a lease: the agent's command line, with this state directory when it is not the default. */
export function nodeAgentHint(stateDir: string, defaultStateDir?: string): string {
  const dir = defaultStateDir !== undefined && stateDir === defaultStateDir ? '' : ` --state-dir ${stateDir}`
  return `start the node agent here: podnet node run --store URLS --name NODE${dir}`
}

/**
 * The overlay network `name` as this node has it: undefined when nothing marks it as an overlay
 * network here (no agent ever knew it), else ready or missing with the reason.
 */
export function overlayLocal(m: NetworkManager, name: string): OverlayLocal | undefined {
  const file = readJson<NetworkFile>(join(m.state.root, 'overlay', 'networks', `${name}.json`))
  const pending = readJson<{ reason?: string }>(m.state.pendingPath(name))
  if (!file && !pending) return undefined
  let network: NetworkConfig | undefined
  try {
    network = m.get(name)
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err
  }
  if (network && file?.createdLocalNetwork && !pending && file.subnet !== undefined) {
    return { state: 'ready', network, subnet: file.subnet, ...(file.cluster !== undefined && { cluster: file.cluster }) }
  }
  const reason = pending?.reason?.replace(/^on this node: /, '') ?? 'no node agent holds a subnet lease for it here'
  return { state: 'missing', reason }
}
