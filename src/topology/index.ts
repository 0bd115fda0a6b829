/** The topology picture: what podnet can see, as a graph, a text tree, DOT or SVG (docs/topology.md). Re-exports only. */
export { collectTopology, type CollectOptions } from './collect.js'
export { podNamespacesDot, topologyDot } from './dot.js'
export type { TopoEdge, TopoLink, TopoNamespace, TopoNetwork, TopoPod, TopoPublishedPort, TopoRoute, TopologyGraph } from './model.js'
export { renderSvg } from './svg.js'
export { namespaceLabel, renderText } from './text.js'
