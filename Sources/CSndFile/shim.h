// libsndfile headers, found through pkg-config `sndfile`. No logic.
#ifndef WASAPI_JACK_CSNDFILE_SHIM_H
#define WASAPI_JACK_CSNDFILE_SHIM_H
#include <sndfile.h>
#endif
