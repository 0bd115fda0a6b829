/** Reads the captured `nft` batches in test/fixtures/nft (see capture.py there). */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseHex } from '../../../../src/netlink/core/hexdump.js'
import { splitMessages, type SentMessage } from './fake-kernel.js'

// dist/test/unit/netlink/nftables -> repo root
const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url))

export const fixturePath = (name: string): string => `${ROOT}test/fixtures/nft/${name}`

/** The commands of a captured batch (BATCH_BEGIN and BATCH_END dropped). */
export function fixtureCommands(name: string): SentMessage[] {
  const msgs = splitMessages(parseHex(readFileSync(fixturePath(`${name}.hex`), 'utf8')))
  return msgs.filter((m) => m.type !== 0x10 && m.type !== 0x11)
}
