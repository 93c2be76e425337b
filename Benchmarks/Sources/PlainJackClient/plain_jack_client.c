// A stereo monitor as a plain C JACK client writes it (see the header).
#include "plain_jack_client.h"

#include <jack/jack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct plain_monitor {
    jack_client_t *client;
    jack_port_t *inputs[PLAIN_MONITOR_CHANNELS];
    jack_port_t *outputs[PLAIN_MONITOR_CHANNELS];
};

plain_monitor *plain_monitor_open(const char *client_name, const char *server_name) {
    plain_monitor *monitor = calloc(1, sizeof *monitor);
    if (monitor == NULL) return NULL;
    jack_status_t status;
    monitor->client = jack_client_open(client_name, JackServerName | JackNoStartServer, &status, server_name);
    if (monitor->client == NULL) {
        free(monitor);
        return NULL;
    }
    for (int k = 0; k < PLAIN_MONITOR_CHANNELS; k++) {
        char name[16];
        snprintf(name, sizeof name, "in_%d", k + 1);
        monitor->inputs[k] = jack_port_register(monitor->client, name, JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
        snprintf(name, sizeof name, "out_%d", k + 1);
        monitor->outputs[k] = jack_port_register(monitor->client, name, JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
        if (monitor->inputs[k] == NULL || monitor->outputs[k] == NULL) {
            plain_monitor_close(monitor);
            return NULL;
        }
    }
    return monitor;
}

void plain_monitor_close(plain_monitor *monitor) {
    if (monitor == NULL) return;
    jack_client_close(monitor->client);
    free(monitor);
}

const char *plain_monitor_client_name(const plain_monitor *monitor) {
    return jack_get_client_name(monitor->client);
}

int plain_monitor_process(uint32_t nframes, void *argument) {
    plain_monitor *monitor = argument;
    for (int k = 0; k < PLAIN_MONITOR_CHANNELS; k++) {
        const jack_default_audio_sample_t *in = jack_port_get_buffer(monitor->inputs[k], nframes);
        jack_default_audio_sample_t *out = jack_port_get_buffer(monitor->outputs[k], nframes);
        memcpy(out, in, nframes * sizeof(jack_default_audio_sample_t));
    }
    return 0;
}

void *plain_monitor_argument(plain_monitor *monitor) { return monitor; }

int plain_monitor_activate(plain_monitor *monitor) {
    jack_set_process_callback(monitor->client, plain_monitor_process, monitor);
    return jack_activate(monitor->client);
}

float *plain_monitor_port_buffer(plain_monitor *monitor, const char *port_name, uint32_t nframes) {
    jack_port_t *port = jack_port_by_name(monitor->client, port_name);
    return port == NULL ? NULL : jack_port_get_buffer(port, nframes);
}
