"""Plans and subscriptions: what a viewer is entitled to. Staff grant, billing reports, beat expires.

The catalog (videos) reads entitlements from here; nothing here knows about videos."""
