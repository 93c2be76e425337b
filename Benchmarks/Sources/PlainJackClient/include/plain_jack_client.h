// The peer of MonitorBenchmarks: a stereo pass-through monitor written the
// way a hand-written C JACK client does it. Plain C, no wasapi-jack code.
#ifndef WASAPI_JACK_BENCH_PLAIN_JACK_CLIENT_H
#define WASAPI_JACK_BENCH_PLAIN_JACK_CLIENT_H

#include <stdint.h>

#define PLAIN_MONITOR_CHANNELS 2

/// A JACK client with two input and two output ports. Opaque.
typedef struct plain_monitor plain_monitor;

/// Opens a client named `client_name` on the server `server_name`
/// (JackServerName | JackNoStartServer) and registers `in_1`, `in_2`,
/// `out_1`, `out_2`. Does not activate it and sets no callback with JACK.
/// Returns NULL on failure.
plain_monitor *_Nullable plain_monitor_open(const char *_Nonnull client_name,
                                            const char *_Nonnull server_name);

/// Closes the client and frees `monitor`.
void plain_monitor_close(plain_monitor *_Nullable monitor);

/// The client's full name for JACK (e.g. "plain-monitor").
const char *_Nonnull plain_monitor_client_name(const plain_monitor *_Nonnull monitor);

/// The monitor's process callback, a JackProcessCallback: per cycle,
/// jack_port_get_buffer on both inputs and both outputs, then memcpy input k
/// to output k. `argument` is the plain_monitor.
int plain_monitor_process(uint32_t nframes, void *_Nullable argument);

/// The argument to pass to plain_monitor_process.
void *_Nonnull plain_monitor_argument(plain_monitor *_Nonnull monitor);

/// Sets plain_monitor_process as the client's JACK process callback and
/// activates the client. Returns jack_activate's result (0: success).
int plain_monitor_activate(plain_monitor *_Nonnull monitor);

/// For checking the set-up, not measured: the buffer of any port on the
/// server by full name (jack_port_by_name + jack_port_get_buffer), or NULL.
float *_Nullable plain_monitor_port_buffer(plain_monitor *_Nonnull monitor,
                                           const char *_Nonnull port_name, uint32_t nframes);

#endif
