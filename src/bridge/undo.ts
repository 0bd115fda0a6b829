/**
 * UndoStack: every step of a multi-step operation pushes its inverse; on failure the inverses
 * run in reverse order, so nothing is left half-done. The original error is rethrown unchanged
 * (callers keep matching on its class); inverses that fail themselves are attached to it as a
 * non-enumerable `rollbackErrors` list, read with rollbackErrorsOf().
 */
export class UndoStack {
  private readonly steps: Array<{ what: string; undo: () => void | Promise<void> }> = []
  private done = false

  /** Registers the inverse of a step that just succeeded. */
  push(what: string, undo: () => void | Promise<void>): void {
    this.steps.push({ what, undo })
  }

  /** The operation succeeded: forget the inverses. */
  commit(): void {
    this.done = true
    this.steps.length = 0
  }

  /** Runs the inverses in reverse order; returns the errors of those that failed. */
  async rollback(): Promise<Error[]> {
    if (this.done) return []
    this.done = true
    const errors: Error[] = []
    for (const s of this.steps.reverse()) {
      try {
        await s.undo()
      } catch (err) {
        errors.push(new Error(`undo "${s.what}" failed: ${(err as Error).message}`, { cause: err }))
      }
    }
    this.steps.length = 0
    return errors
  }

  /** Runs fn; on throw, rolls back and rethrows the original error (rollback failures: rollbackErrorsOf). */
  static async run<T>(fn: (undo: UndoStack) => Promise<T>): Promise<T> {
    const undo = new UndoStack()
    try {
      const result = await fn(undo)
      undo.commit()
      return result
    } catch (err) {
      const errors = await undo.rollback()
      if (errors.length && err && typeof err === 'object') {
        Object.defineProperty(err, ROLLBACK_ERRORS, { value: errors, enumerable: false, configurable: true })
      }
      throw err
    }
  }
}

const ROLLBACK_ERRORS = 'rollbackErrors'

/** The inverses that failed while UndoStack.run rolled back after `err` (empty when all went well). */
export function rollbackErrorsOf(err: unknown): readonly Error[] {
  if (!err || typeof err !== 'object') return []
  const v = (err as Record<string, unknown>)[ROLLBACK_ERRORS]
  return Array.isArray(v) ? (v as Error[]) : []
}
