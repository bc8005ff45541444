// The Dockerfile and deploy/kubernetes.yaml, parsed (no Docker engine or cluster here) and checked
// against the code: ports, probe paths, environment names, Node version, shutdown timing.
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { ENVIRONMENT, loadConfig } from '../src/config.ts'
import { loadOpenApi } from '../src/openapi.ts'

const ROOT = join(import.meta.dirname, '..')
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
const nodeMajor = /(\d+)/.exec(pkg.dependencies.node)![1]
const defaults = loadConfig({})
/** Node's own variables, not the service's configuration. */
const NODE_OWN = new Set(['NODE_ENV', 'NODE_COMPILE_CACHE'])

/** Dockerfile instructions, continuation lines joined: [keyword, arguments]. */
function dockerfile (): Array<[string, string]> {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ')
  return text.split('\n').map(l => l.trim()).filter(l => l !== '' && !l.startsWith('#'))
    .map(l => { const [k, ...rest] = l.split(/\s+/); return [k.toUpperCase(), rest.join(' ')] as [string, string] })
}

t.test('Dockerfile: multi-stage on the project\'s Node, npm ci --omit=dev, non-root, EXPOSE, HEALTHCHECK, CMD', async t => {
  const steps = dockerfile()
  const froms = steps.filter(([k]) => k === 'FROM').map(([, a]) => a)
  t.ok(froms.length >= 2, 'multi-stage')
  for (const from of froms) t.match(from, new RegExp(`^node:${nodeMajor}\\b`), `${from}: Node ${nodeMajor}, as package.json pins`)
  t.match(pkg.engines.node, new RegExp(`>=${nodeMajor}`), 'engines say the same')
  t.ok(steps.some(([k, a]) => k === 'RUN' && /npm ci\b.*--omit=dev/.test(a)), 'npm ci --omit=dev')
  const lastFrom = steps.map(([k]) => k).lastIndexOf('FROM')
  const runtime = steps.slice(lastFrom)
  const users = runtime.filter(([k]) => k === 'USER').map(([, a]) => a)
  t.ok(users.length > 0 && !['root', '0'].includes(users.at(-1)!), `runs as ${users.at(-1)}, not root`)
  t.ok(!runtime.some(([k, a]) => k === 'RUN' && /npm (ci|install)(?!.*--omit=dev)/.test(a)), 'no dev dependencies installed in the runtime stage')
  t.same(runtime.filter(([k]) => k === 'EXPOSE').map(([, a]) => Number(a)), [defaults.port], 'EXPOSE is the default PORT')
  const healthcheck = runtime.find(([k]) => k === 'HEALTHCHECK')
  t.ok(healthcheck, 'HEALTHCHECK')
  t.match(healthcheck?.[1], /\/healthz/)
  t.match(runtime.find(([k]) => k === 'CMD')?.[1], /src\/main\.ts/, 'starts src/main.ts, as npm start does')
  for (const [k, a] of runtime.filter(([k]) => k === 'ENV')) {
    for (const name of a.match(/([A-Z_][A-Z0-9_]*)=/g)!.map(m => m.slice(0, -1))) {
      if (!NODE_OWN.has(name)) t.ok(ENVIRONMENT[name], `${k} ${name} is a config variable`)
    }
  }
  t.match(runtime.find(([, a]) => a.includes('PORT='))?.[1], new RegExp(`PORT=${defaults.port}\\b`))
  for (const [k, a] of runtime.filter(([kind, args]) => kind === 'COPY' && !/--from/.test(args))) {
    for (const source of a.split(/\s+/).slice(0, -1)) t.ok(existsSync(join(ROOT, source)), `${k} ${source} exists`)
  }
})

t.test('deploy/kubernetes.yaml: Deployment, Service and HorizontalPodAutoscaler wired to the code', async t => {
  const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy', 'kubernetes.yaml'), 'utf8')).map(d => d.toJS())
  const byKind = new Map(docs.map(d => [d.kind, d]))
  for (const kind of ['Deployment', 'Service', 'HorizontalPodAutoscaler']) t.ok(byKind.has(kind), kind)
  const deployment = byKind.get('Deployment')
  const pod = deployment.spec.template
  t.same(deployment.spec.selector.matchLabels, pod.metadata.labels, 'the Deployment selects its pods')
  const [container] = pod.spec.containers
  const port = container.ports.find((p: { name: string }) => p.name === 'http')
  t.equal(port.containerPort, defaults.port, 'containerPort is the default PORT')
  const env = new Map<string, { value?: string, valueFrom?: any }>(container.env.map((e: { name: string }) => [e.name, e]))
  for (const name of env.keys()) t.ok(ENVIRONMENT[name], `${name} is a config variable`)
  t.equal(Number(env.get('PORT')?.value ?? defaults.port), port.containerPort, 'PORT matches the containerPort')

  const openapi = loadOpenApi()
  t.equal(container.readinessProbe.httpGet.path, '/readyz')
  t.equal(container.livenessProbe.httpGet.path, '/healthz')
  for (const probe of [container.readinessProbe, container.livenessProbe]) {
    t.ok(openapi.paths[probe.httpGet.path], `${probe.httpGet.path} is in openapi.yaml`)
    t.ok([port.name, port.containerPort].includes(probe.httpGet.port), 'probes hit the service port')
  }

  const scrape = pod.metadata.annotations
  t.equal(scrape['prometheus.io/path'], '/metrics', 'Prometheus scrapes /metrics')
  t.ok(openapi.paths['/metrics'], '/metrics is in openapi.yaml')
  t.equal(Number(scrape['prometheus.io/port']), port.containerPort, 'on the service port')
  for (const [name, key] of [['API_TOKEN', 'api-token'], ['DEBUG_TOKEN', 'debug-token']]) {
    const ref = env.get(name)?.valueFrom?.secretKeyRef
    t.match(ref, { name: 'metric-compactor', key }, `${name} comes from the secret (a mesh makes every client loopback)`)
    t.notOk(ref?.optional, `${name}'s secret is required: a missing one stops the pod rather than open the service`)
  }

  const memory = env.get('MEMORY_LIMIT_BYTES')?.valueFrom?.resourceFieldRef
  t.match(memory, { containerName: container.name, resource: 'limits.memory' }, 'MEMORY_LIMIT_BYTES from the container memory limit (downward API)')
  t.ok(container.resources.limits.memory, 'the container has a memory limit to pass on')
  t.ok(pod.spec.securityContext.runAsNonRoot, 'non-root')

  // SIGKILL must not cut a drain short: grace > preStop + SHUTDOWN_TIMEOUT_MS
  const shutdownMs = Number(env.get('SHUTDOWN_TIMEOUT_MS')?.value ?? defaults.shutdownTimeoutMs)
  const preStopS = Number(container.lifecycle?.preStop?.exec?.command?.at(-1) ?? 0)
  t.ok(pod.spec.terminationGracePeriodSeconds * 1000 > shutdownMs + preStopS * 1000, 'terminationGracePeriodSeconds covers the drain')
  const tempDir = env.get('TEMP_DIR')?.value
  t.ok(container.volumeMounts.some((m: { mountPath: string }) => m.mountPath === tempDir), 'TEMP_DIR is a mounted volume (the root file system is read-only)')

  const service = byKind.get('Service')
  t.same(service.spec.selector, pod.metadata.labels, 'the Service selects the pods')
  t.ok(service.spec.ports.every((p: { targetPort: string | number }) => p.targetPort === port.name || p.targetPort === port.containerPort), 'the Service targets the container port')

  const hpa = byKind.get('HorizontalPodAutoscaler')
  t.match(hpa.spec.scaleTargetRef, { kind: 'Deployment', name: deployment.metadata.name })
  t.ok(hpa.spec.minReplicas >= 2 && hpa.spec.maxReplicas > hpa.spec.minReplicas, 'scales out over several replicas')
})
