// The world the generator describes: metrics (names, types, units, scopes), the pods and nodes
// that report them, and the series (metric x entity x labels) with their tids and attribute values.
import { Prng } from './prng.ts'

export type MetricType = 'gauge' | 'count' | 'histogram'

/** A metric as cooked rows describe it. */
export interface Metric {
  readonly name: string
  readonly type: MetricType
  readonly unit: string | null
  readonly description: string | null
  readonly scopeName: string | null
  readonly scopeUrl: string | null
  /** Reported per pod (application, container) or per node (host). */
  readonly entity: 'pod' | 'node'
  /** attr_* columns this metric's series carry. */
  readonly labels: readonly string[]
  /** Values of either sign (and exact zeros) occur. */
  readonly signed: boolean
}

/** An attribute column: one value per series (null where the series lacks it). */
export interface AttributeColumn {
  readonly name: string
  readonly values: ReadonlyArray<string | null>
  /** Rows in buckets before this one have no value (a label introduced mid-day); 0 = always. */
  readonly fromBucket: number
}

/** Every series of the data set, columnar, plus its metrics and attribute columns. */
export interface Model {
  readonly metrics: readonly Metric[]
  /** Metric index per series. */
  readonly seriesMetric: Int32Array
  /** chq_tid per series as [low, high] 32-bit words: random over the full signed range. */
  readonly tidWords: Int32Array
  /** Typical magnitude of the series' values. */
  readonly seriesScale: Float64Array
  /** The series in sort-key order (metric_name UTF-8 bytes, then chq_tid signed). */
  readonly seriesByRank: Int32Array
  readonly attributes: readonly AttributeColumn[]
}

interface MetricTemplate {
  name: string
  type: MetricType
  unit: string
  description: string
  scope: string
  entity: 'pod' | 'node'
  labels?: string[]
  signed?: boolean
}

const HOST = 'github.com/open-telemetry/opentelemetry-collector-contrib/receiver/hostmetricsreceiver/internal/scraper/'
const KUBELET = 'github.com/open-telemetry/opentelemetry-collector-contrib/receiver/kubeletstatsreceiver'
const IO = ['attr_device', 'attr_direction']
const HTTP = ['attr_http_request_method', 'attr_http_response_status_code', 'attr_http_route']

const TEMPLATES: MetricTemplate[] = [
  { name: 'k8s.pod.cpu.utilization', type: 'gauge', unit: '1', description: 'Pod CPU utilization', scope: KUBELET, entity: 'pod' },
  { name: 'k8s.pod.memory.usage', type: 'gauge', unit: 'By', description: 'Pod memory usage', scope: KUBELET, entity: 'pod' },
  { name: 'k8s.pod.memory.working_set', type: 'gauge', unit: 'By', description: 'Pod memory working set', scope: KUBELET, entity: 'pod' },
  { name: 'k8s.pod.network.io', type: 'count', unit: 'By', description: 'Network bytes', scope: KUBELET, entity: 'pod', labels: IO },
  { name: 'k8s.pod.network.errors', type: 'count', unit: '{errors}', description: 'Network errors', scope: KUBELET, entity: 'pod', labels: IO },
  { name: 'k8s.container.restarts', type: 'gauge', unit: '{restart}', description: 'Container restarts', scope: KUBELET, entity: 'pod' },
  { name: 'k8s.node.cpu.utilization', type: 'gauge', unit: '1', description: 'Node CPU utilization', scope: KUBELET, entity: 'node' },
  { name: 'k8s.node.filesystem.usage', type: 'gauge', unit: 'By', description: 'Node filesystem usage', scope: KUBELET, entity: 'node' },
  { name: 'container.cpu.time', type: 'count', unit: 's', description: 'Container CPU time', scope: KUBELET, entity: 'pod', labels: ['attr_state'] },
  { name: 'container.memory.usage', type: 'gauge', unit: 'By', description: 'Container memory usage', scope: KUBELET, entity: 'pod' },
  { name: 'system.cpu.utilization', type: 'gauge', unit: '1', description: 'CPU utilization per state', scope: HOST + 'cpuscraper', entity: 'node', labels: ['attr_state'] },
  { name: 'system.memory.usage', type: 'gauge', unit: 'By', description: 'Bytes of memory in use', scope: HOST + 'memoryscraper', entity: 'node', labels: ['attr_state'] },
  { name: 'system.disk.io', type: 'count', unit: 'By', description: 'Disk bytes transferred', scope: HOST + 'diskscraper', entity: 'node', labels: IO },
  { name: 'system.disk.operations', type: 'count', unit: '{operations}', description: 'Disk operations count', scope: HOST + 'diskscraper', entity: 'node', labels: IO },
  { name: 'system.network.io', type: 'count', unit: 'By', description: 'Bytes transmitted and received', scope: HOST + 'networkscraper', entity: 'node', labels: IO },
  { name: 'system.filesystem.utilization', type: 'gauge', unit: '1', description: 'Filesystem bytes used', scope: HOST + 'filesystemscraper', entity: 'node', labels: ['attr_device'] },
  { name: 'http.server.request.duration', type: 'histogram', unit: 's', description: 'Duration of HTTP server requests', scope: 'io.opentelemetry.http', entity: 'pod', labels: HTTP },
  { name: 'http.client.request.duration', type: 'histogram', unit: 's', description: 'Duration of HTTP client requests', scope: 'io.opentelemetry.http', entity: 'pod', labels: HTTP.slice(0, 2) },
  { name: 'http.server.active_requests', type: 'gauge', unit: '{request}', description: 'Active HTTP server requests', scope: 'io.opentelemetry.http', entity: 'pod', labels: HTTP.slice(0, 1) },
  { name: 'rpc.server.duration', type: 'histogram', unit: 'ms', description: 'Duration of inbound RPCs', scope: 'io.opentelemetry.grpc-1.6', entity: 'pod' },
  { name: 'db.client.connections.usage', type: 'gauge', unit: '{connection}', description: 'Connections by state', scope: 'io.opentelemetry.jdbc', entity: 'pod', labels: ['attr_state'] },
  { name: 'db.client.operation.duration', type: 'histogram', unit: 's', description: 'Duration of database client operations', scope: 'io.opentelemetry.jdbc', entity: 'pod' },
  { name: 'jvm.memory.used', type: 'gauge', unit: 'By', description: 'Measure of memory used', scope: 'io.opentelemetry.runtime-telemetry-java8', entity: 'pod', labels: ['attr_state'] },
  { name: 'jvm.gc.duration', type: 'histogram', unit: 's', description: 'Duration of JVM garbage collection actions', scope: 'io.opentelemetry.runtime-telemetry-java8', entity: 'pod' },
  { name: 'process.runtime.go.goroutines', type: 'gauge', unit: '{goroutine}', description: 'Number of goroutines', scope: 'go.opentelemetry.io/contrib/instrumentation/runtime', entity: 'pod' },
  { name: 'hw.temperature.delta', type: 'gauge', unit: 'Cel', description: 'Temperature change since the last reading', scope: HOST + 'hwscraper', entity: 'node', signed: true },
  { name: 'queue.lag.change', type: 'histogram', unit: '{message}', description: 'Change of consumer lag', scope: 'io.opentelemetry.kafka-clients-2.6', entity: 'pod', signed: true },
]

const WORDS = ['orders', 'payments', 'cart', 'checkout', 'search', 'inventory', 'shipping', 'auth', 'users', 'catalog', 'email',
  'billing', 'ledger', 'ads', 'recommendation', 'currency', 'quote', 'fraud', 'session', 'cache', 'queue', 'worker', 'gateway',
  'frontend', 'reports', 'pricing', 'media', 'upload', 'notification', 'scheduler', 'metrics', 'loader', 'indexer', 'ingest',
  'export', 'webhook', 'profile', 'tenant', 'audit', 'feature']
const VERBS = ['processed_total', 'failed_total', 'latency', 'queue_depth', 'batch_size', 'retries', 'in_flight', 'bytes', 'hits',
  'misses', 'items', 'duration', 'backlog', 'errors', 'lag']

/** attr_* value pools, for the labels metrics declare. */
const LABEL_VALUES: Record<string, readonly string[]> = {
  attr_http_request_method: ['GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH'],
  attr_http_response_status_code: ['200', '200', '200', '200', '201', '204', '301', '400', '401', '403', '404', '429', '500', '502', '503'],
  attr_http_route: Array.from({ length: 30 }, (_, i) => `/api/v${1 + (i % 3)}/${WORDS[i]}${i % 2 === 0 ? '/{id}' : ''}`),
  attr_state: ['user', 'system', 'idle', 'iowait', 'nice', 'steal', 'used', 'free', 'cached'],
  attr_device: ['sda', 'sdb', 'nvme0n1', 'nvme1n1', 'eth0', 'eth1', 'lo'],
  attr_direction: ['read', 'write', 'transmit', 'receive'],
}

/** The attribute columns of the default profile: 14 resource_* and 6 attr_* (the base schema has 24 more). */
export const BASE_ATTRIBUTES = [
  'resource_service_name', 'resource_service_version', 'resource_k8s_namespace_name', 'resource_k8s_cluster_name',
  'resource_k8s_pod_name', 'resource_k8s_node_name', 'resource_k8s_deployment_name', 'resource_container_name',
  'resource_host_name', 'resource_cloud_region', 'resource_cloud_provider', 'resource_cloud_availability_zone',
  'resource_telemetry_sdk_language', 'resource_os_type',
  'attr_http_request_method', 'attr_http_response_status_code', 'attr_http_route', 'attr_state', 'attr_device', 'attr_direction',
] as const

/** Columns every generated segment has besides the attributes. */
export const FIXED_COLUMN_COUNT = 24

interface Entity {
  kind: 'pod' | 'node'
  resources: Map<string, string>
}

/** Builds the metrics, entities and series of a data set. */
export function buildModel (rng: Prng, metricCount: number, seriesCount: number, attributeCount: number, buckets: number): Model {
  if (seriesCount < metricCount) throw new Error(`--series (${seriesCount}) must be at least --metrics (${metricCount})`)
  const metrics = buildMetrics(rng, metricCount)
  const { pods, nodes } = buildEntities(rng, seriesCount)
  const perMetric = seriesPerMetric(metricCount, seriesCount)

  const seriesMetric = new Int32Array(seriesCount)
  const tidWords = new Int32Array(2 * seriesCount)
  const seriesScale = new Float64Array(seriesCount)
  const seriesEntity: Entity[] = []
  const seriesLabels: Array<Map<string, string>> = []
  let s = 0
  for (let m = 0; m < metricCount; m++) {
    const metric = metrics[m]
    const scale = rng.logUniform(1e-3, 1e6)
    for (let k = 0; k < perMetric[m]; k++, s++) {
      seriesMetric[s] = m
      tidWords[2 * s] = rng.u32() | 0
      tidWords[2 * s + 1] = rng.u32() | 0
      seriesScale[s] = scale * rng.logUniform(0.2, 5)
      seriesEntity.push(metric.entity === 'pod' ? rng.pick(pods) : rng.pick(nodes))
      const labels = new Map<string, string>()
      for (const label of metric.labels) labels.set(label, rng.pick(LABEL_VALUES[label]))
      seriesLabels.push(labels)
    }
  }

  const attributes: AttributeColumn[] = []
  for (const name of BASE_ATTRIBUTES.slice(0, Math.min(attributeCount, BASE_ATTRIBUTES.length))) {
    const values = seriesEntity.map((e, i) => e.resources.get(name) ?? seriesLabels[i].get(name) ?? null)
    attributes.push({ name, values, fromBucket: 0 })
  }
  for (let i = BASE_ATTRIBUTES.length; i < attributeCount; i++) attributes.push(extraAttribute(rng, i - BASE_ATTRIBUTES.length, seriesMetric, metricCount, buckets))

  return { metrics, seriesMetric, tidWords, seriesScale, seriesByRank: rankSeries(metrics, seriesMetric, tidWords), attributes }
}

function buildMetrics (rng: Prng, count: number): Metric[] {
  const metrics: Metric[] = []
  const names = new Set<string>()
  for (const t of TEMPLATES.slice(0, count)) {
    names.add(t.name)
    metrics.push({
      name: t.name, type: t.type, unit: t.unit, description: t.description, scopeName: t.scope,
      scopeUrl: rng.chance(0.3) ? 'https://opentelemetry.io/schemas/1.26.0' : null,
      entity: t.entity, labels: t.labels ?? [], signed: t.signed ?? false,
    })
  }
  while (metrics.length < count) {
    let name = `app.${rng.pick(WORDS)}.${rng.pick(VERBS)}`
    if (names.has(name)) name += `_${metrics.length}`
    names.add(name)
    const roll = rng.next()
    const type: MetricType = roll < 0.5 ? 'gauge' : roll < 0.85 ? 'count' : 'histogram'
    metrics.push({
      name, type,
      unit: rng.pick(['1', 'ms', 's', 'By', '{item}', '{request}']),
      description: rng.chance(0.7) ? `Application metric ${name}` : null,
      scopeName: rng.chance(0.8) ? `com.example.${name.split('.')[1]}` : null,
      scopeUrl: null,
      entity: 'pod',
      labels: rng.chance(0.3) ? ['attr_state'] : [],
      signed: rng.chance(0.05),
    })
  }
  return metrics
}

/** Series per metric: Zipf-like (a few metrics carry most series), at least one each, summing to seriesCount. */
function seriesPerMetric (metricCount: number, seriesCount: number): Int32Array {
  const weights = Array.from({ length: metricCount }, (_, m) => 1 / Math.pow(m + 1, 0.8))
  const total = weights.reduce((a, b) => a + b, 0)
  const spare = seriesCount - metricCount
  const counts = new Int32Array(metricCount)
  let given = 0
  for (let m = 0; m < metricCount; m++) {
    counts[m] = 1 + Math.floor(spare * weights[m] / total)
    given += counts[m]
  }
  for (let m = 0; given < seriesCount; m = (m + 1) % metricCount, given++) counts[m]++
  return counts
}

function hex (rng: Prng, length: number): string {
  let s = ''
  for (let i = 0; i < length; i++) s += 'bcdfghjklmnpqrstvwxz2456789'[rng.int(27)]
  return s
}

/** Pods (about one per 15 series) of 50 services, and 40 nodes in 3 clusters. */
function buildEntities (rng: Prng, seriesCount: number): { pods: Entity[], nodes: Entity[] } {
  const regions = ['us-east-1', 'us-west-2', 'eu-west-1']
  const clusters = ['prod-us-east', 'prod-us-west', 'prod-eu']
  const nodes: Entity[] = Array.from({ length: 40 }, (_, i) => {
    const c = i % clusters.length
    return {
      kind: 'node' as const,
      resources: new Map([
        ['resource_k8s_cluster_name', clusters[c]],
        ['resource_k8s_node_name', `ip-10-${c}-${rng.int(256)}-${rng.int(256)}.ec2.internal`],
        ['resource_cloud_region', regions[c]],
        ['resource_cloud_provider', 'aws'],
        ['resource_cloud_availability_zone', `${regions[c]}${'abc'[rng.int(3)]}`],
        ['resource_os_type', 'linux'],
      ]),
    }
  })
  for (const node of nodes) node.resources.set('resource_host_name', node.resources.get('resource_k8s_node_name')!)
  const namespaces = ['default', 'checkout', 'payments', 'search', 'platform', 'data', 'ml', 'web', 'batch', 'monitoring']
  const services = Array.from({ length: 50 }, (_, i) => ({
    name: `${WORDS[i % WORDS.length]}${i >= WORDS.length ? '-v2' : ''}-service`,
    namespace: rng.pick(namespaces),
    version: rng.chance(0.4) ? `v1.${rng.int(20)}.${rng.int(10)}` : null,
    language: rng.chance(0.3) ? rng.pick(['go', 'java', 'python', 'nodejs', 'dotnet']) : null,
  }))
  const pods: Entity[] = Array.from({ length: Math.max(20, Math.round(seriesCount / 15)) }, () => {
    const service = services[Math.min(services.length - 1, Math.floor(services.length * Math.pow(rng.next(), 1.5)))]
    const node = rng.pick(nodes).resources
    const resources = new Map<string, string>()
    const set = (k: string, v: string | null | undefined): void => { if (v) resources.set(k, v) }
    set('resource_service_name', service.name)
    set('resource_service_version', service.version)
    set('resource_k8s_namespace_name', service.namespace)
    set('resource_k8s_cluster_name', node.get('resource_k8s_cluster_name'))
    set('resource_k8s_pod_name', `${service.name}-${hex(rng, 10)}-${hex(rng, 5)}`)
    set('resource_k8s_node_name', node.get('resource_k8s_node_name'))
    if (rng.chance(0.8)) set('resource_k8s_deployment_name', service.name)
    if (rng.chance(0.9)) set('resource_container_name', service.name.replace('-service', ''))
    set('resource_cloud_region', node.get('resource_cloud_region'))
    set('resource_cloud_provider', 'aws')
    set('resource_cloud_availability_zone', node.get('resource_cloud_availability_zone'))
    set('resource_telemetry_sdk_language', service.language)
    return { kind: 'pod' as const, resources }
  })
  return { pods, nodes }
}

const EXTRA_PREFIXES = ['resource_k8s_pod_label_', 'resource_k8s_namespace_label_', 'attr_', 'resource_', 'attr_custom_']

/** A wide-profile attribute: sparse (a subset of metrics), of random cardinality, sometimes only from a bucket on. */
function extraAttribute (rng: Prng, i: number, seriesMetric: Int32Array, metricCount: number, buckets: number): AttributeColumn {
  const word = WORDS[i % WORDS.length]
  const name = `${EXTRA_PREFIXES[i % EXTRA_PREFIXES.length]}${word}${i >= WORDS.length ? `_${Math.floor(i / WORDS.length)}` : ''}`
  const share = rng.logUniform(0.02, 0.6)
  const active = new Uint8Array(metricCount).map(() => (rng.chance(share) ? 1 : 0))
  const cardinality = Math.round(rng.logUniform(2, 500))
  const values = Array.from(seriesMetric, m => (active[m] === 1 && rng.chance(0.85) ? `${word}-${rng.int(cardinality)}` : null))
  const fromBucket = rng.chance(0.2) ? Math.floor(buckets * rng.range(20, 80) / 100) : 0
  return { name, values, fromBucket }
}

/** Series indexes in sort-key order: metric_name by UTF-8 bytes, then chq_tid as a signed 64-bit integer. */
function rankSeries (metrics: readonly Metric[], seriesMetric: Int32Array, tidWords: Int32Array): Int32Array {
  const nameBytes = metrics.map(m => Buffer.from(m.name, 'utf8'))
  const order = Int32Array.from(seriesMetric.keys())
  return order.sort((a, b) => Buffer.compare(nameBytes[seriesMetric[a]], nameBytes[seriesMetric[b]]) ||
    (tidWords[2 * a + 1] - tidWords[2 * b + 1]) || ((tidWords[2 * a] >>> 0) - (tidWords[2 * b] >>> 0)))
}
