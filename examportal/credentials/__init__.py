"""Open Badges 3.0 credentials (W3C Verifiable Credentials 2.0) for certificates: signed with an
embedded Data Integrity proof (``eddsa-rdfc-2022``), with revocation and suspension published
in signed Bitstring Status Lists. See :mod:`.badge` for how a certificate becomes a credential."""
