{ app: 'guestbook', tier: std.extVar('tier') }
