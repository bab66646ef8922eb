import express from 'express';

export function createApp() {
  const app = express();
  app.use(express.json());
  app.post('/v1/echo', (req, res) => {
    res.json(req.body);
  });
  return app;
}
