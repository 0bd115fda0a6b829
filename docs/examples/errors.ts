// podnet/errors: every error has a stable code; isErrno looks through the cause chain.
import { Netns } from 'podnet'
import { ExistsError, InvalidArgumentError, isErrno, type PodnetError } from 'podnet/errors'

const ns = Netns.create('example-errors')
try {
  Netns.create('example-errors')
} catch (err) {
  console.log(err instanceof ExistsError, (err as PodnetError).code, isErrno(err, 'EEXIST'))
} finally {
  ns.close()
  Netns.remove('example-errors')
}
try {
  Netns.create('a/b')
} catch (err) {
  console.log(err instanceof InvalidArgumentError, (err as InvalidArgumentError).field, (err as PodnetError).code)
}
