"""Everything that touches the outside world: VDA 5050 wire models, MQTT, brokers."""
