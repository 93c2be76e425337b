// Linux headers that Swift's Glibc module does not export (eventfd). No logic.
#ifndef WASAPI_JACK_CSYSTEM_SHIM_H
#define WASAPI_JACK_CSYSTEM_SHIM_H
#include <sys/eventfd.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
#endif
