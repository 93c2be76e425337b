// C interop for JACK. No logic lives here: only what Swift cannot call
// directly (variadic functions) gets a non-variadic inline wrapper.
#ifndef WASAPI_JACK_CJACK_SHIM_H
#define WASAPI_JACK_CJACK_SHIM_H

#include <jack/jack.h>
#include <jack/types.h>
#include <jack/ringbuffer.h>
#include <jack/metadata.h>
#include <jack/uuid.h>
#include <jack/statistics.h>
#include <jack/session.h>  /* jack_client_get_uuid */
#include <jack/thread.h>   /* real-time scheduling helpers for application threads */

/// `jack_client_open` is variadic (the server name follows the options when
/// `JackServerName` is set); Swift cannot call variadic C functions.
/// `server_name` may be NULL, in which case JackServerName is cleared.
static inline jack_client_t *cjack_client_open(const char *client_name,
                                               jack_options_t options,
                                               jack_status_t *status,
                                               const char *server_name) {
    if (server_name != NULL) {
        return jack_client_open(client_name,
                                (jack_options_t)(options | JackServerName),
                                status, server_name);
    }
    return jack_client_open(client_name,
                            (jack_options_t)(options & ~JackServerName), status);
}

#endif
