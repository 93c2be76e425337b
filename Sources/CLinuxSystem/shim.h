// Linux headers that Swift's Glibc module does not export (eventfd, System V semaphores). No logic.
#ifndef WASAPI_JACK_CSYSTEM_SHIM_H
#define WASAPI_JACK_CSYSTEM_SHIM_H
#include <sys/eventfd.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
#include <sys/sem.h>
// glibc declares semtimedop only under _GNU_SOURCE.
extern int semtimedop(int semid, struct sembuf *sops, size_t nsops, const struct timespec *timeout);
#endif
