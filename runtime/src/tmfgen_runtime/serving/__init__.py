"""The service: one handler per operation channel (`service`), the uniform operations of
every TMF resource (`operations`), the profile's rules (`rules`), provider-assigned attributes
(`provider`), and the TMF events a change raises and the outbox that publishes them."""
