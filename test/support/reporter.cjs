// mocha reporter: the spec reporter, then one line "tests: N passed, N failed" (what .ci/run reads).
'use strict'
const Mocha = require('mocha')
const { EVENT_RUN_END } = Mocha.Runner.constants
class PodnetReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options)
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats || {}
      const line = `tests: ${s.passes || 0} passed, ${s.failures || 0} failed, ${s.pending || 0} skipped`
      process.stdout.write(`\n${line}\n`)
      if (process.env.PODNET_TEST_SUMMARY) require('fs').writeFileSync(process.env.PODNET_TEST_SUMMARY, `${s.passes || 0} ${s.failures || 0} ${s.pending || 0}\n`)
    })
  }
}
module.exports = PodnetReporter
