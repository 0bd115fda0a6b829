/** podnet/testing: throwaway namespaces and sandboxes for networked tests (mocha first). */
export * from './guard.js'
export * from './oracle.js'
export * from './temp-netns.js'
export * from './sandbox.js'
export * from './topology.js'
export * from './probe.js'
export * from './iperf.js'
