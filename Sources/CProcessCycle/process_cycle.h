// The C types of the in-callback mode: what the process function of an
// InCallbackStream receives once per JACK cycle. Declarations only, no logic:
// they are C so that the process function can be a `@convention(c)` pointer
// (no closure context, no reference counting on the real-time thread).
#ifndef WASAPI_JACK_PROCESS_CYCLE_H
#define WASAPI_JACK_PROCESS_CYCLE_H

#include <stdint.h>

/// One JACK process cycle, as an in-callback stream sees it.
///
/// Every pointer is valid only during the call that receives it. `inputs`
/// holds `input_count` JACK port buffers (read only, `frames` samples each);
/// `outputs` holds `output_count` port buffers that the function must fill
/// completely (JACK does not clear them).
typedef struct wasapi_jack_cycle {
    /// Frames in this cycle: the JACK period.
    uint32_t frames;
    /// Capture channels (the stream's input ports).
    uint32_t input_count;
    /// Render channels (the stream's output ports).
    uint32_t output_count;
    /// The stream's sample rate: the JACK rate.
    uint32_t sample_rate;
    const float *const _Nonnull *_Nullable inputs;
    float *const _Nonnull *_Nullable outputs;
    /// Frames this stream processed before this cycle, since it was created.
    uint64_t frame_position;
    /// This process's `jack_client_t *`, for the real-time-safe calls jack.h
    /// allows in a process callback (`jack_get_cycle_times` for the cycle's
    /// time, `jack_frame_time`, ...). Nothing else may be called with it.
    void *_Nullable jack_client;
} wasapi_jack_cycle;

/// The function an in-callback stream runs on JACK's real-time thread.
typedef void (*wasapi_jack_process_function)(const wasapi_jack_cycle *_Nonnull cycle,
                                             void *_Nullable context);

#endif
