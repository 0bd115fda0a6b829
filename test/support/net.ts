/** Moved to src/testing/probe.ts (public: podnet/testing); kept for existing imports. */
export * from '../../src/testing/probe.js'
