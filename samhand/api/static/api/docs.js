/* Starts Swagger UI for /api/v1/docs. A static file because the CSP forbids inline
   scripts. Requests made from the page use the browser session; unsafe methods
   carry the CSRF token, as on every samhand page. */
(function () {
  "use strict";
  var settings = JSON.parse(document.getElementById("swagger-settings").textContent);
  var csrfToken = document.body.dataset.csrfToken;
  settings.dom_id = "#swagger-ui";
  settings.presets = [SwaggerUIBundle.presets.apis];
  settings.requestInterceptor = function (request) {
    if (csrfToken && request.method && !/^(GET|HEAD|OPTIONS)$/i.test(request.method)) {
      request.headers["X-CSRFToken"] = csrfToken;
    }
    return request;
  };
  window.ui = SwaggerUIBundle(settings);
})();
