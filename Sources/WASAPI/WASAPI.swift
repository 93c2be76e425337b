// The public WASAPI-shaped API (see docs/ARCHITECTURE.md).
