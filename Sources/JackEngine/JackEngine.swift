// JACK client
