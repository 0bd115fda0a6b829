/**
 * What a container sees of /proc and /sys, as runc applies an OCI spec's maskedPaths and
 * readonlyPaths, with the union of containerd's and podman 4's default lists.
 *
 * Masked: a file gets /dev/null bind-mounted over it, a directory an empty read-only tmpfs;
 * a path the kernel does not have is skipped. Read-only: bind-mounted onto itself, then
 * remounted read-only. Privileged containers get neither (and a writable /sys).
 */

/** Paths hidden from a container. */
export const MASKED_PATHS: readonly string[] = [
  '/proc/acpi', '/proc/asound', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/sched_debug', '/proc/scsi', '/proc/timer_list', '/proc/timer_stats',
  '/sys/dev/block', '/sys/devices/virtual/powercap', '/sys/firmware', '/sys/fs/selinux',
]

/** Paths a container sees read-only (sysctls, IRQ affinity, the magic SysRq key). */
export const READONLY_PATHS: readonly string[] = [
  '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger',
]
