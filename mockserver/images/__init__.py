"""Images in and out: input sources behind the network policy, rendering, the output cache."""
