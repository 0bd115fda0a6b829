/** Up-front validation of values rtnetlink requests carry, so bad input fails before anything is changed. */
import { InvalidArgumentError } from '../../errors.js'

/** Throws unless `mtu` is an integer from 68 to 65535 (the device may narrow that further). */
export function validateMtu(mtu: number, field = 'mtu'): void {
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new InvalidArgumentError(field, `'${mtu}' is not a valid MTU (an integer from 68 to 65535)`)
}
