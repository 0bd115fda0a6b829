/**
 * A minimal CRI client: the kubelet's side of the RuntimeService calls podnet's tests need,
 * over a runtime's unix socket (containerd's `[grpc] address`). Messages are the runtime.v1
 * subset in runtime-v1.proto, loaded with @grpc/proto-loader; field names are camelCase
 * (`podSandboxId`), enums are their names ('TCP', 'SANDBOX_READY'), int64 values numbers.
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'

/** The .proto, read from the source tree (tsc does not copy it to dist/). */
export const CRI_PROTO = join(dirname(fileURLToPath(import.meta.url)), '../../../../test/support/cri/runtime-v1.proto')

export interface PortMapping { protocol?: 'TCP' | 'UDP' | 'SCTP'; containerPort: number; hostPort: number; hostIp?: string }
export interface PodSandboxMetadata { name: string; uid: string; namespace: string; attempt?: number }
export interface PodSandboxConfig {
  metadata: PodSandboxMetadata
  hostname?: string
  logDirectory?: string
  dnsConfig?: { servers?: string[]; searches?: string[]; options?: string[] }
  portMappings?: PortMapping[]
  labels?: Record<string, string>
  annotations?: Record<string, string>
  linux?: { cgroupParent?: string; securityContext?: { namespaceOptions?: { network?: string; pid?: string; ipc?: string } } }
}
export interface ContainerConfig {
  metadata: { name: string; attempt?: number }
  image: { image: string }
  command?: string[]
  args?: string[]
  envs?: Array<{ key: string; value: string }>
  labels?: Record<string, string>
  logPath?: string
}
export interface PodSandboxStatus {
  id: string
  metadata: PodSandboxMetadata
  state: 'SANDBOX_READY' | 'SANDBOX_NOTREADY'
  network: { ip: string; additionalIps: Array<{ ip: string }> } | null
}
export interface PodSandbox { id: string; metadata: PodSandboxMetadata; state: string; labels: Record<string, string> }

type Unary = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: any) => void) => void

let definition: protoLoader.PackageDefinition | undefined

/** RuntimeService over a unix socket. */
export class CriClient {
  private readonly client: grpc.Client & Record<string, Unary>
  readonly socket: string
  private readonly timeoutMs: number

  constructor(socket: string, timeoutMs = 120000) {
    this.socket = socket
    this.timeoutMs = timeoutMs
    definition ??= protoLoader.loadSync(CRI_PROTO, { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true })
    const pkg = grpc.loadPackageDefinition(definition) as any
    const Service = pkg.runtime.v1.RuntimeService as grpc.ServiceClientConstructor
    this.client = new Service(`unix://${socket}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
    }) as grpc.Client & Record<string, Unary>
  }

  /** One unary call; a gRPC error becomes an Error whose message names the call and the runtime's text. */
  call<T = any>(method: string, req: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    return new Promise((resolve, reject) => {
      const fn = this.client[method]
      if (typeof fn !== 'function') return reject(new Error(`CRI: no method ${method}`))
      fn.call(this.client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) reject(Object.assign(new Error(`CRI ${method}: ${err.details || err.message}`), { code: err.code }))
        else resolve(res as T)
      })
    })
  }

  version(): Promise<{ version: string; runtimeName: string; runtimeVersion: string; runtimeApiVersion: string }> {
    return this.call('Version', { version: 'v1' })
  }
  async status(): Promise<Array<{ type: string; status: boolean; reason: string; message: string }>> {
    return (await this.call('Status', {})).status.conditions
  }
  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    return (await this.call('RunPodSandbox', { config })).podSandboxId
  }
  async podSandboxStatus(id: string, verbose = false): Promise<{ status: PodSandboxStatus; info: Record<string, string> }> {
    return this.call('PodSandboxStatus', { podSandboxId: id, verbose })
  }
  async listPodSandbox(filter: { id?: string; labelSelector?: Record<string, string> } = {}): Promise<PodSandbox[]> {
    return (await this.call('ListPodSandbox', { filter })).items
  }
  async stopPodSandbox(id: string): Promise<void> {
    await this.call('StopPodSandbox', { podSandboxId: id })
  }
  async removePodSandbox(id: string): Promise<void> {
    await this.call('RemovePodSandbox', { podSandboxId: id })
  }
  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    return (await this.call('CreateContainer', { podSandboxId, config, sandboxConfig })).containerId
  }
  async startContainer(id: string): Promise<void> {
    await this.call('StartContainer', { containerId: id })
  }
  async stopContainer(id: string, timeout = 0): Promise<void> {
    await this.call('StopContainer', { containerId: id, timeout })
  }
  async removeContainer(id: string): Promise<void> {
    await this.call('RemoveContainer', { containerId: id })
  }
  /** Runs a command in a container; stdout and stderr as text. */
  async execSync(id: string, cmd: string[], timeoutS = 10): Promise<{ stdout: string; stderr: string; exitCode: number }> {
    const r = await this.call<{ stdout: Buffer; stderr: Buffer; exitCode: number }>('ExecSync', { containerId: id, cmd, timeout: timeoutS }, (timeoutS + 30) * 1000)
    return { stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), exitCode: r.exitCode }
  }

  close(): void {
    this.client.close()
  }
}
