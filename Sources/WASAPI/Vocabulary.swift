// The vocabulary a WASAPI program uses, re-exported so that `import WASAPI`
// is all it needs: wave formats and their parts, HRESULT codes, the event
// handle type, and the engine seam (for `MMDeviceEnumerator(engine:)` and
// in-callback process functions).
@_exported import struct PCM.WaveFormat
@_exported import struct PCM.ChannelMask
@_exported import enum PCM.SampleFormat
@_exported import struct PCM.FormatError
@_exported import struct PCM.HRESULT
@_exported import class Realtime.RealtimeEvent
@_exported import enum Realtime.RealtimeError
@_exported import protocol AudioGraph.AudioEngine
@_exported import typealias AudioGraph.ProcessFunction
