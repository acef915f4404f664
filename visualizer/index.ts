export { serveInspector } from './server.ts';
export type { Inspector, InspectorFaults, InspectorOptions } from './server.ts';
export type { ActorInfo, FaultInfo, LogEntry, Recovery, ServerMessage } from './protocol.ts';
export { createRedactor } from './redact.ts';
export { machineGraph, collectMachines } from './graph.ts';
export { layoutGraph } from './layout.ts';
