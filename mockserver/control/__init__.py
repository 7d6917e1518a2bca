"""What tests steer: scenario rules, faults, latency and webhook delivery."""
