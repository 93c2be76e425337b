// The C libraries our code is measured against. No logic.
#ifndef WASAPI_JACK_BENCH_PEERS_H
#define WASAPI_JACK_BENCH_PEERS_H
#include <jack/ringbuffer.h>
#include <samplerate.h>
#endif
