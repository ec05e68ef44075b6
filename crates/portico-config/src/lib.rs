//! Loading of Backstage-shaped `app-config.yaml` files.
