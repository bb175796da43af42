"""Web pages served by the gateway: the public complaint form and tracking page
(:mod:`gateway.web.public`), rendered with :mod:`gateway.web.templating`."""
