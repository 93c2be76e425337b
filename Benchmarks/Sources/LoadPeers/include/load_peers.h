// The C side of the StreamLoad tool: N plain JACK clients, each fed by its
// own thread through a jack_ringbuffer (the design cubeb and PortAudio use),
// and an observer client that counts the server's xruns and reads its DSP
// load. Written the way a careful C programmer would, as the peer of
// wasapi-jack's one-client-per-process design.
#ifndef WASAPI_JACK_LOAD_PEERS_H
#define WASAPI_JACK_LOAD_PEERS_H

#include <stddef.h>

typedef struct load_peer_set load_peer_set;
typedef struct load_observer load_observer;

/// Opens `count` stereo clients on `server`, each with a ring of
/// `buffer_frames` frames kept full by its own feeder thread (a 440 Hz sine),
/// connected to system:playback_1/2 and running. NULL on failure, with the
/// reason in `error`. Clients already opened are closed again.
load_peer_set *load_peers_start(const char *server, int count, unsigned buffer_frames,
                                char *error, size_t error_size);
/// Frames the process callbacks had to fill with silence, over all clients.
unsigned long long load_peers_underrun_frames(const load_peer_set *set);
/// Stops the feeders, closes the clients, frees everything.
void load_peers_stop(load_peer_set *set);

/// An active client with no ports that counts xruns; NULL on failure.
load_observer *load_observer_open(const char *server);
unsigned long long load_observer_xruns(const load_observer *observer);
/// `jack_cpu_load`: the server's DSP load, percent.
float load_observer_dsp_load(const load_observer *observer);
void load_observer_close(load_observer *observer);

#endif
