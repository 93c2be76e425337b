// Berkeley DB 5.3, the database jackd2 keeps JACK metadata in: tests only,
// to hold a lock in it as a process that died inside it does.
#include <db.h>
