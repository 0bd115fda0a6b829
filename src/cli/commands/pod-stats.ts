import type { Command } from 'commander'
import type { PodCommandHelpers } from './pod.js'
export function registerPodStats(_pod: Command, _h: PodCommandHelpers): void {}
