export * from './netns.js'
export * from './tcp.js'
