/** cgroups for pods and containers: layout detection (v1, v2, hybrid), limits, kill, OOM counters. Re-exports only. */
export { CONTROLLERS, detectCgroupLayout, parseCgroupLayout, type CgroupLayout, type ControllerName, type Hierarchy } from './detect.js'
export { CFS_PERIOD_US, cfsQuotaUs, oomKillCount, writeCpuLimit, writeMemoryLimit, type Limits } from './limits.js'
export { Cgroup } from './cgroup.js'
export { readCgroupStats, type CgroupStats, type IoCounters } from './stats.js'
export { ANNOTATION_CGROUPS, ensureCgroupParent } from './access.js'
