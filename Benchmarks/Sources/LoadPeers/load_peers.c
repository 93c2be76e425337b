#include "load_peers.h"

#include <errno.h>
#include <jack/jack.h>
#include <jack/ringbuffer.h>
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    jack_client_t *client;
    jack_port_t *ports[2];
    jack_ringbuffer_t *ring;
    sem_t wake;
    atomic_ullong underrun_frames;
    atomic_int running;
    pthread_t feeder;
    int feeder_started;
    unsigned buffer_frames;
    double phase;
} peer_stream;

struct load_peer_set {
    int count;
    peer_stream *streams;
};

enum { FRAME_BYTES = 2 * sizeof(float) };

/// Real-time: ring -> two port buffers, silence for a shortfall, then wake the feeder.
static int peer_process(jack_nframes_t frames, void *argument) {
    peer_stream *stream = argument;
    float *left = jack_port_get_buffer(stream->ports[0], frames);
    float *right = jack_port_get_buffer(stream->ports[1], frames);
    jack_ringbuffer_data_t vector[2];
    jack_ringbuffer_get_read_vector(stream->ring, vector);
    size_t available = (vector[0].len + vector[1].len) / FRAME_BYTES;
    size_t count = available < frames ? available : frames;
    size_t first = vector[0].len / FRAME_BYTES;
    for (size_t frame = 0; frame < count; frame++) {
        const float *source = frame < first ? (const float *)vector[0].buf + 2 * frame
                                            : (const float *)vector[1].buf + 2 * (frame - first);
        left[frame] = source[0];
        right[frame] = source[1];
    }
    jack_ringbuffer_read_advance(stream->ring, count * FRAME_BYTES);
    if (count < frames) {
        memset(left + count, 0, (frames - count) * sizeof(float));
        memset(right + count, 0, (frames - count) * sizeof(float));
        atomic_fetch_add_explicit(&stream->underrun_frames, frames - count, memory_order_relaxed);
    }
    sem_post(&stream->wake);
    return 0;
}

/// The application's thread: on each wake-up, tops the ring up to buffer_frames.
static void *peer_feed(void *argument) {
    peer_stream *stream = argument;
    float block[2 * 1024];
    while (atomic_load_explicit(&stream->running, memory_order_acquire)) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 1;
        if (sem_timedwait(&stream->wake, &deadline) != 0 && errno != EINTR) continue;
        size_t queued = jack_ringbuffer_read_space(stream->ring) / FRAME_BYTES;
        size_t wanted = queued < stream->buffer_frames ? stream->buffer_frames - queued : 0;
        while (wanted > 0) {
            size_t count = wanted < 1024 ? wanted : 1024;
            for (size_t frame = 0; frame < count; frame++) {
                float sample = 0.25f * sinf((float)stream->phase);
                stream->phase += 2 * M_PI * 440.0 / 48000.0;
                if (stream->phase > 2 * M_PI) stream->phase -= 2 * M_PI;
                block[2 * frame] = sample;
                block[2 * frame + 1] = sample;
            }
            jack_ringbuffer_write(stream->ring, (const char *)block, count * FRAME_BYTES);
            wanted -= count;
        }
    }
    return NULL;
}

static void peer_close(peer_stream *stream) {
    if (stream->feeder_started) {
        atomic_store_explicit(&stream->running, 0, memory_order_release);
        sem_post(&stream->wake);
        pthread_join(stream->feeder, NULL);
    }
    if (stream->client) {
        jack_deactivate(stream->client);
        jack_client_close(stream->client);
    }
    if (stream->ring) jack_ringbuffer_free(stream->ring);
    sem_destroy(&stream->wake);
}

static int peer_open(peer_stream *stream, const char *server, int index, unsigned buffer_frames,
                     char *error, size_t error_size) {
    char name[64];
    snprintf(name, sizeof name, "load-peer-%d", index);
    sem_init(&stream->wake, 0, 0);
    atomic_init(&stream->underrun_frames, 0);
    atomic_init(&stream->running, 1);
    stream->buffer_frames = buffer_frames;
    jack_status_t status;
    stream->client = jack_client_open(name, JackNoStartServer | JackServerName, &status, server);
    if (!stream->client) {
        snprintf(error, error_size, "jack_client_open of client %d failed (status 0x%x)", index + 1, (unsigned)status);
        return -1;
    }
    stream->ring = jack_ringbuffer_create((buffer_frames + 1) * FRAME_BYTES);
    stream->ports[0] = jack_port_register(stream->client, "out_1", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
    stream->ports[1] = jack_port_register(stream->client, "out_2", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
    if (!stream->ring || !stream->ports[0] || !stream->ports[1]) {
        snprintf(error, error_size, "client %d: no ring or ports", index + 1);
        return -1;
    }
    // The ring starts full, as the application prefills its buffer before Start.
    float silence[2 * 64] = {0};
    for (unsigned done = 0; done < buffer_frames; done += 64) {
        jack_ringbuffer_write(stream->ring, (const char *)silence, 64 * FRAME_BYTES);
    }
    if (pthread_create(&stream->feeder, NULL, peer_feed, stream) != 0) {
        snprintf(error, error_size, "client %d: no feeder thread", index + 1);
        return -1;
    }
    stream->feeder_started = 1;
    jack_set_process_callback(stream->client, peer_process, stream);
    if (jack_activate(stream->client) != 0) {
        snprintf(error, error_size, "client %d: jack_activate failed", index + 1);
        return -1;
    }
    jack_connect(stream->client, jack_port_name(stream->ports[0]), "system:playback_1");
    jack_connect(stream->client, jack_port_name(stream->ports[1]), "system:playback_2");
    return 0;
}

load_peer_set *load_peers_start(const char *server, int count, unsigned buffer_frames,
                                char *error, size_t error_size) {
    load_peer_set *set = calloc(1, sizeof *set);
    set->streams = calloc((size_t)count, sizeof *set->streams);
    for (int index = 0; index < count; index++) {
        set->count = index + 1;
        if (peer_open(&set->streams[index], server, index, buffer_frames, error, error_size) != 0) {
            load_peers_stop(set);
            return NULL;
        }
    }
    return set;
}

unsigned long long load_peers_underrun_frames(const load_peer_set *set) {
    unsigned long long total = 0;
    for (int index = 0; index < set->count; index++) {
        total += atomic_load_explicit(&set->streams[index].underrun_frames, memory_order_relaxed);
    }
    return total;
}

void load_peers_stop(load_peer_set *set) {
    for (int index = 0; index < set->count; index++) peer_close(&set->streams[index]);
    free(set->streams);
    free(set);
}

struct load_observer {
    jack_client_t *client;
    atomic_ullong xruns;
};

static int observer_xrun(void *argument) {
    atomic_fetch_add_explicit(&((load_observer *)argument)->xruns, 1, memory_order_relaxed);
    return 0;
}

load_observer *load_observer_open(const char *server) {
    load_observer *observer = calloc(1, sizeof *observer);
    atomic_init(&observer->xruns, 0);
    jack_status_t status;
    observer->client = jack_client_open("load-observer", JackNoStartServer | JackServerName, &status, server);
    if (!observer->client) {
        free(observer);
        return NULL;
    }
    jack_set_xrun_callback(observer->client, observer_xrun, observer);
    if (jack_activate(observer->client) != 0) {
        jack_client_close(observer->client);
        free(observer);
        return NULL;
    }
    return observer;
}

unsigned long long load_observer_xruns(const load_observer *observer) {
    return atomic_load_explicit(&observer->xruns, memory_order_relaxed);
}

float load_observer_dsp_load(const load_observer *observer) { return jack_cpu_load(observer->client); }

void load_observer_close(load_observer *observer) {
    jack_deactivate(observer->client);
    jack_client_close(observer->client);
    free(observer);
}
