// libsamplerate headers, found through pkg-config `samplerate`. No logic.
#ifndef WASAPI_JACK_CSAMPLERATE_SHIM_H
#define WASAPI_JACK_CSAMPLERATE_SHIM_H
#include <samplerate.h>
#endif
