// Real pre-trained models shipped inside npm packages.
export {};
