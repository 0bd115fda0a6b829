/** Where and how podnet keeps its records: directories, atomic durable JSON files, the state lock. Re-exports only. */
export { DEFAULT_RUN_DIR, DEFAULT_STATE_DIR, type DirOptions, type Dirs, dirsFromEnv, resolveDirs } from './dirs.js'
export { DamagedRecordError } from '../errors.js'
export { TMP_MARK, createJsonExclusive, fsyncDir, listDir, readJson, removeFile, removeTempFiles, writeFileAtomic, writeJsonAtomic } from './files.js'
export { withLock } from './lock.js'
export { BOOT_ID_FILE, bootIdFromEnv, claimRunDir, currentBootId, forgetBootChecks, type BootCheck } from './boot.js'
