export * from './constants.js'
export * from './syscall.js'
export * from './netns-switch.js'
