/** The options of PodRuntime and of its run and stop calls. */
import type { PodNetwork } from './network.js'
import type { BackoffOptions } from './restart-policy.js'
import type { HaltStage } from './sandbox.js'

export interface RuntimeOptions {
  /** Persistent state (records as created and final, logs, the supervisor's socket); default /var/lib/podnet. */
  stateDir?: string
  /**
   * The run directory: the bridge layer's volatile state (attachments, IPAM, ports) and the
   * pods' (live records, pins, /dev/shm, /etc files, exit records; see state-store.ts).
   * Default by podnet's one rule (src/state/dirs.ts): <stateDir>/run when a state dir is given,
   * else /run/podnet.
   */
  runDir?: string
  /** CrashLoopBackOff timing (default Kubernetes': 10 s doubling to 5 min, reset after 10 min). */
  backoff?: Partial<BackoffOptions>
  /** cgroup directory under each hierarchy's root that holds podnet's pods (default "podnet"). */
  cgroupParent?: string
  /** Pause argv (default catatonit -P). */
  pause?: string[]
  /** Launcher binary (default: built from source on first use). */
  launcher?: string
  /** Pod networking (default: podnet's bridge networks in the same state dir). */
  network?: PodNetwork
  /** How often adopted processes are checked (ms, default 250). */
  pollMs?: number
  /** Size of each pod's /dev/shm tmpfs (default 64m). */
  shmSize?: string
  /**
   * Called right after each step of creating a pod, before the record names its result (see
   * HALT_STAGES). Tests stop the process there to kill it at the worst moment; a supervisor
   * builds this from PODNET_TEST_HALT_AT (supervisor.ts, haltCheckpoint).
   */
  checkpoint?: (stage: HaltStage) => void
  /** This boot's id (default /proc/sys/kernel/random/boot_id; tests simulating a reboot set another). See restore.ts. */
  bootId?: string
  /** First retry of a failed record write (ms, default 1000; doubling up to 30 s). See PodRuntime's 'write-failed'. */
  writeRetryMs?: number
  /** Host IDs for hostUsers:false pods, START and COUNT (default: /etc/subuid's `containers` entry, else from 2^31). */
  usernsPool?: { start: number; count: number }
}

export interface RunOptions {
  /** The named namespace that plays the host for the pod's network (default: this process's). */
  hostNetns?: string
  /** Addresses (no prefix) to ask the network for, when free (a StatefulSet's pod made again); others are chosen when not. */
  ips?: string[]
}

export interface StopOptions {
  /** Overrides the pod's terminationGracePeriodSeconds. */
  gracePeriodSeconds?: number
}
