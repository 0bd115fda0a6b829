/**
 * A pod's security checked before anything of it is made (PodRuntime.run): every container's
 * securityContext resolved (runAsNonRoot, a Localhost profile's text) and its seccomp filter
 * compiled (a profile can be valid and still too long for the kernel). The manifest parser
 * checks most of it already; a PodSpec built by a library caller did not go through it, and
 * the compiler's limit is only known here. Errors name the field; the compiled filters are
 * cached, so the start that follows compiles nothing again.
 */
import { InvalidArgumentError, PodnetError } from '../../errors.js'
import { resolveSecurity, type PodSecurityContext, type SecurityContext } from './context.js'
import { seccompFilterBytes } from './launch-args.js'

interface SpecLike {
  name: string
  securityContext?: PodSecurityContext
  containers: ReadonlyArray<{ name: string; securityContext?: SecurityContext }>
}

export function checkPodSecurity(spec: SpecLike): void {
  spec.containers.forEach((c, i) => {
    const at = `spec.containers[${i}].securityContext`
    const sec = resolveSecurity(spec.securityContext, c.securityContext, { at, podAt: 'spec.securityContext', pod: spec.name, container: c.name })
    try {
      seccompFilterBytes(sec)
    } catch (err) {
      if (err instanceof InvalidArgumentError || !(err instanceof PodnetError)) throw err
      const own = c.securityContext?.seccompProfile
      const prof = own ?? spec.securityContext?.seccompProfile
      const field = `${own ? at : 'spec.securityContext'}.seccompProfile${prof?.type === 'Localhost' ? '.localhostProfile' : ''}`
      const what = prof?.type === 'Localhost' ? `${prof.localhostProfile}: ` : ''
      throw new InvalidArgumentError(field, `${what}${err.message.replace(/^seccomp: /, '')}`, { cause: err })
    }
  })
}
