# The sample app: one greeting route and a health route for Marathon's HTTP health check.
require 'sinatra/base'

class HelloApp < Sinatra::Base
  # Bind every interface: Docker's bridge forwards the host port to the container's address,
  # and Sinatra's development default (localhost) would refuse it.
  set :bind, '0.0.0.0'
  set :port, 4567

  get '/greet/:name' do
    content_type 'text/plain'
    "Hello #{params['name']}!"
  end

  # Marathon's health check (apps/hello-sinatra.json, path /health) and HAProxy rely on this.
  get '/health' do
    content_type 'text/plain'
    'OK'
  end

  run! if app_file == $PROGRAM_NAME
end
