"""What the tests and the benchmarks share: loopback server, stand-ins, stacks, processes."""
