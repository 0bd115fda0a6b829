/**
 * Container images made from the machine's own files, for runtimes that cannot reach a
 * registry: one uncompressed layer, an OCI image config and manifest, packed as an OCI image
 * layout archive (`ctr images import`) and as a docker archive (`docker load`).
 *
 * Depends on: GNU tar. Writes only under the directory it is given.
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface ImageSpec {
  /** Full reference, e.g. 'localhost/podnet/busybox:1'. */
  name: string
  /** Files to put in the image: path in the image -> file on this machine (copied, mode 0755). */
  files: Record<string, string>
  /** Symlinks: path in the image -> target. */
  links?: Record<string, string>
  /** Empty directories to create. */
  dirs?: string[]
  entrypoint?: string[]
  cmd?: string[]
  env?: string[]
}

export interface BuiltImage {
  name: string
  /** The OCI layout archive (ctr images import). */
  oci: string
  /** The docker archive (docker load). */
  docker: string
  /** sha256:... of the config (the image id). */
  id: string
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

/** Builds the image's layer and both archives under `dir`. */
export function buildImage(dir: string, spec: ImageSpec): BuiltImage {
  const slug = spec.name.replace(/[^a-zA-Z0-9]+/g, '-')
  const work = join(dir, `image-${slug}`)
  rmSync(work, { recursive: true, force: true })
  const root = join(work, 'rootfs')
  for (const d of ['etc', 'tmp', 'proc', 'sys', 'dev', ...(spec.dirs ?? [])]) mkdirSync(join(root, d), { recursive: true })
  for (const [at, from] of Object.entries(spec.files)) {
    mkdirSync(join(root, at, '..'), { recursive: true })
    copyFileSync(from, join(root, at))
    chmodSync(join(root, at), 0o755)
  }
  for (const [at, to] of Object.entries(spec.links ?? {})) {
    mkdirSync(join(root, at, '..'), { recursive: true })
    symlinkSync(to, join(root, at))
  }
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n')
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n')
  // a reproducible layer: sorted names, root owner, fixed times
  const layerFile = join(work, 'layer.tar')
  execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', root, '-cf', layerFile, '.'])
  const layer = readFileSync(layerFile)
  const layerDigest = sha256(layer)
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', created: '1970-01-01T00:00:00Z',
    config: {
      Env: spec.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      ...(spec.entrypoint && { Entrypoint: spec.entrypoint }),
      ...(spec.cmd && { Cmd: spec.cmd }),
    },
    rootfs: { type: 'layers', diff_ids: [`sha256:${layerDigest}`] },
    history: [{ created: '1970-01-01T00:00:00Z', created_by: 'podnet test image' }],
  }))
  const configDigest = sha256(config)
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${configDigest}`, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${layerDigest}`, size: layer.length }],
  }))
  const manifestDigest = sha256(manifest)

  // OCI image layout
  const oci = join(work, 'oci')
  mkdirSync(join(oci, 'blobs/sha256'), { recursive: true })
  writeFileSync(join(oci, 'blobs/sha256', layerDigest), layer)
  writeFileSync(join(oci, 'blobs/sha256', configDigest), config)
  writeFileSync(join(oci, 'blobs/sha256', manifestDigest), manifest)
  writeFileSync(join(oci, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  writeFileSync(join(oci, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${manifestDigest}`, size: manifest.length,
      annotations: { 'io.containerd.image.name': spec.name, 'org.opencontainers.image.ref.name': spec.name.split(':').pop() },
    }],
  }))
  const ociTar = join(dir, `${slug}.oci.tar`)
  execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', oci, '-cf', ociTar, '.'])

  // docker archive (docker load): manifest.json + config + layer directory
  const dock = join(work, 'docker')
  mkdirSync(join(dock, layerDigest), { recursive: true })
  writeFileSync(join(dock, layerDigest, 'layer.tar'), layer)
  writeFileSync(join(dock, `${configDigest}.json`), config)
  writeFileSync(join(dock, 'manifest.json'), JSON.stringify([{ Config: `${configDigest}.json`, RepoTags: [spec.name], Layers: [`${layerDigest}/layer.tar`] }]))
  const dockerTar = join(dir, `${slug}.docker.tar`)
  execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', dock, '-cf', dockerTar, '.'])
  rmSync(work, { recursive: true, force: true })
  return { name: spec.name, oci: ociTar, docker: dockerTar, id: `sha256:${configDigest}` }
}

/** Applets the busybox image links to /bin/busybox. */
const BUSYBOX_APPLETS = ['sh', 'ip', 'ping', 'nc', 'cat', 'sleep', 'timeout', 'echo', 'wget', 'httpd', 'hostname', 'ls', 'true', 'kill']

/** A busybox image from Debian's busybox-static (entrypoint none, cmd sh). */
export function busyboxImage(dir: string, name = 'localhost/podnet/busybox:1'): BuiltImage {
  return buildImage(dir, {
    name,
    files: { 'bin/busybox': '/bin/busybox' },
    links: Object.fromEntries(BUSYBOX_APPLETS.map((a) => [`bin/${a}`, 'busybox'])),
    cmd: ['sh'],
  })
}

/** A pause image: Debian's catatonit in pause mode (`catatonit -P`, podman's infra process). */
export function pauseImage(dir: string, name = 'localhost/podnet/pause:1'): BuiltImage {
  return buildImage(dir, { name, files: { catatonit: '/usr/bin/catatonit' }, entrypoint: ['/catatonit', '-P'] })
}
