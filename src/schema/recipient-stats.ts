// Filled in by the aggregates and live work (issue #6).
export {};
