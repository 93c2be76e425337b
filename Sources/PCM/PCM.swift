// The wave-format model, sample conversion, channel maps and resampling (see docs/ARCHITECTURE.md).
