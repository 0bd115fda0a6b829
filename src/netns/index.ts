export * from './netns.js'
